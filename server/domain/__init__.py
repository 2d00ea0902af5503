"""Pure rules and types of GNRP Live. Nothing here imports a database, Redis, Starlette or arq."""
