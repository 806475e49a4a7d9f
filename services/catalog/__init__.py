"""The catalog: owns Postgres (word lists, words, settings, job records, statistics)."""
