"""The dashboard's figures (SQL aggregation only), its SVG charts and the exports."""
