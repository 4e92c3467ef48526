"""Hospital outpatient self-service kiosk (门诊自助服务机)."""

__version__ = "0.1.0"
