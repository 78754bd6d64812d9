"""微网 Weiwang: micro-grid community governance, offline first."""
