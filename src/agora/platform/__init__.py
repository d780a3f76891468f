"""Cross-cutting machinery shared by every Agora module. It knows no business words."""
