"""The clinics' pages, the FAQ topics and their citations (`python -m knowledge draft|check`)."""
