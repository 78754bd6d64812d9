"""Open311 GeoReport v2: the city's other systems read and file problems on the ledger."""
