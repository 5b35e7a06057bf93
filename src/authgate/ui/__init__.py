"""authgate's own small server-rendered pages, where e-mailed links land."""
