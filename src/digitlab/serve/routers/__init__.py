"""The app's routers: `predict` (the three prediction endpoints) and `status` (models, health)."""
