"""What macros and rules share: the sandboxed reply template, actions and conditions."""
