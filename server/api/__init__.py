"""HTTP routes: parse the request, call a service, shape the response. No business rules here."""
