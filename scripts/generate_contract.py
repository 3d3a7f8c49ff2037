"""Regenerate docs/contract/events.schema.json from the payload models (``make contract``)."""

from libs.common.contract.schema import CONTRACT_PATH, write

if __name__ == "__main__":
    write()
    print(f"wrote {CONTRACT_PATH}")
