"""Placeholder until the Gradio chat lands: answers one sample question from the CLI."""

from __future__ import annotations

from pathlib import Path

from qa.index import build_index
from qa.engine import Engine

if __name__ == "__main__":
    if not Path("index/manifest.json").exists():
        print(build_index(["seeds"], "index"))
    print(Engine.load("index").ask("2017年天津生产总值预期增长多少？").to_dict())
