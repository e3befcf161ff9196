"""`python -m simulator --port P`: run the WeChat simulator standalone."""
from __future__ import annotations

import argparse
import logging

from werkzeug.serving import run_simple

from core.config import load_config
from simulator.app import create_sim_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m simulator", description="Offline WeChat stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="default: simulator.port from config.yaml")
    parser.add_argument("--webhook", help="webhook URL (default: simulator.webhook_url)")
    args = parser.parse_args()
    config = load_config()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s sim: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_sim_app(config, args.webhook)
    port = args.port or config.simulator.port
    print(f"WeChat simulator on http://{args.host}:{port}/simulator", flush=True)
    run_simple(args.host, port, app, threaded=True)


main()
