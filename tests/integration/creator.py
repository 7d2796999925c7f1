"""One app process that opens tickets over its API for the multi-process numbering and dispatch tests.

Arguments: database URL, how many tickets, a JSON object of ticket fields, a JSON object of config overrides.
It prints "ready", waits for a line on stdin (so every process starts at once), opens the tickets one after the
other as agent1, and prints one JSON line [[number, assignee], ...].
"""
import json
import sys

from app import create_app
from config import TestConfig
from tests.conftest import PASSWORD, Api


def main(url, count, fields, overrides):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, SCHEDULER_ENABLED=False, AUTO_MIGRATE=False,
                     AUTO_DEPLOY=False, **overrides)
    api = Api(app.test_client())
    api.login("agent1", PASSWORD)
    customer = api.customer_number()
    print("ready", flush=True)
    sys.stdin.readline()
    made = []
    for _ in range(count):
        body = {"customer_number": customer, "type": "complaint", "urgency": "high",
                "description": "生产线设备无法启动，影响交付", "channel": "phone", **fields}
        response = api.post("/tickets", "agent1", json=body)
        if response.status_code != 201:
            print(json.dumps({"error": response.status_code, "body": response.get_json()}), flush=True)
            return 1
        ticket = response.get_json()
        made.append([ticket["number"], ticket["assignee"]])
    print(json.dumps(made), flush=True)
    return 0


if __name__ == "__main__":
    from config import normalise_database_url

    sys.exit(main(normalise_database_url(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3]),
                  json.loads(sys.argv[4])))
