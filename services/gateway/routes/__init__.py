"""One APIRouter per resource of the Clean-Tracks contract."""
