"""The practice API: its locations, services and scoring settings, validated by the scoring
rules before they are stored in app.catalog."""
