"""Domain rules and every query. One verb function per write; routers only call these."""
