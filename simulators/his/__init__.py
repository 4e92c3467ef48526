"""The reference hospital server (HIS API v1): FastAPI + SQLAlchemy, the contract of HIS-API.md."""
