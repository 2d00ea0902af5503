"""Server-rendered pages (SPEC section 7): readable without JavaScript, enhanced by web/static."""
