from conftest import Daemon
from pathlib import Path

async def test_smoke(daemon: Daemon, dataset: Path, run_dir: Path) -> None:
    status = await daemon.request("experience/status", {})
    assert status == {"runs": [], "protocolVersion": 1}
    result = await daemon.request("experience/train", {"runDir": str(run_dir), "dataset": str(dataset), "epochs": 1, "rows": 8, "batchSize": 2})
    print(result)
    print(daemon.progress())
    print(daemon.notes)
