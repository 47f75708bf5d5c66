"""The practice's catalogue: where patients are seen, for what, and how leads are scored
(the tables, and the configuration version every change advances). Edited through
app.practice; read by scoring and availability."""
