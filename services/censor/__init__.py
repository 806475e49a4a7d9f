"""The censor service: DSP and the job worker."""
