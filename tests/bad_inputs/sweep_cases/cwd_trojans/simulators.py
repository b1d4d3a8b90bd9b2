"""A crafted module in the working directory: a sweep child must never import it."""
import pathlib

pathlib.Path(__file__).with_name("TROJAN_IMPORTED").write_text(__name__)
raise SystemExit(f"error: crafted module {__name__} imported from the working directory")
