"""Regenerate docs/contract/events.schema.json and docs/contract/asyncapi.json from the models (``make contract``)."""

from libs.common.contract import asyncapi, schema

if __name__ == "__main__":
    schema.write()
    asyncapi.write()
    print(f"wrote {schema.CONTRACT_PATH} and {asyncapi.ASYNCAPI_PATH}")
