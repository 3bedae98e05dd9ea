"""``densenet-client`` as a user runs it, against the real server: a folder with bad files, JSON lines,
the progress bar on a terminal, exit codes, and the printed curl commands run with the real curl."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tritonclient.http

from densenet_client import DenseNetClient
from tests.support.imagefactory import cat_jpeg, encode, photo, sized_jpeg
from tests.support.terminal import run_on_terminal

pytestmark = pytest.mark.e2e

CLI = str(Path(sys.executable).parent / "densenet-client")  # the installed console script


def run_cli(*args: str, cwd: Path | None = None, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, timeout=120, cwd=cwd, check=False, **kwargs
    )


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """A folder as users have them: photos in sub-folders, upper-case extensions, a broken file, notes."""
    root = tmp_path_factory.mktemp("photos")
    (root / "holiday").mkdir()
    cat = cat_jpeg()
    (root / "cat.jpg").write_bytes(cat)
    (root / "holiday" / "astronaut.png").write_bytes(encode(photo("astronaut.png"), "PNG"))
    (root / "holiday" / "COFFEE.JPG").write_bytes(sized_jpeg(400, 300))
    (root / "broken.jpg").write_bytes(b"this is not an image")
    (root / "holiday" / "truncated.jpeg").write_bytes(cat[: len(cat) // 2])
    (root / "notes.txt").write_text("not an image, not sent")
    return root


GOOD = ["cat.jpg", "holiday/COFFEE.JPG", "holiday/astronaut.png"]


def test_a_folder_with_bad_files_gives_a_table_the_reasons_and_exit_1(photos, http_url):
    done = run_cli("classify", str(photos), "--url", f"http://{http_url}", cwd=photos)
    assert done.returncode == 1, done.stderr
    out, err = done.stdout.splitlines(), done.stderr
    assert out[0].split() == ["IMAGE", "#", "PROBABILITY", "CLASS", "LABEL"]
    named = [line.split()[0] for line in out[1:] if not line.startswith(" ")]
    assert sorted(Path(name).relative_to(photos).as_posix() for name in named) == GOOD
    assert len(out) == 1 + 5 * len(GOOD)  # the server's default top_k
    assert f"error: {photos / 'broken.jpg'}: not a recognised image format" in err
    assert f"error: {photos / 'holiday' / 'truncated.jpeg'}: truncated or corrupt JPEG" in err
    assert "2 of 5 images failed" in err
    assert "notes.txt" not in done.stdout + err
    assert "Traceback" not in err
    assert "img/s" not in err, "no progress bar when stderr is not a terminal"


def test_json_lines_over_grpc_match_the_sdk(photos, grpc_url):
    done = run_cli(
        "classify", str(photos), "--url", f"grpc://{grpc_url}", "--json", "--top-k", "3", "--concurrency", "2"
    )
    assert done.returncode == 1
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == 5
    by_name = {Path(r["image"]).relative_to(photos).as_posix(): r for r in records}
    assert by_name["broken.jpg"]["error"]["type"] == "InvalidImage"
    assert "not a recognised image format" in by_name["broken.jpg"]["error"]["message"]
    assert by_name["holiday/truncated.jpeg"]["error"]["type"] == "InvalidImage"
    with DenseNetClient(f"grpc://{grpc_url}") as client:
        for name in GOOD:
            expected = [p.class_id for p in client.classify(photos / name, top_k=3)]
            assert [p["class_id"] for p in by_name[name]["predictions"]] == expected
    assert "2 of 5 images failed" in done.stderr


def test_all_good_exits_0_and_a_missing_path_is_a_failure(photos, http_url, tmp_path):
    done = run_cli(
        "classify",
        str(photos / "cat.jpg"),
        str(photos / "holiday"),
        "--url",
        f"http://{http_url}",
        "--ext",
        "png",
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert len(done.stdout.splitlines()) == 1 + 5 * 2  # cat.jpg named, astronaut.png found
    missing = run_cli(
        "classify", str(photos / "cat.jpg"), str(tmp_path / "gone.jpg"), "--url", f"http://{http_url}"
    )
    assert missing.returncode == 1
    assert f"error: {tmp_path / 'gone.jpg'}: no such file or directory" in missing.stderr
    assert "1 of 2 images failed" in missing.stderr


def test_unreachable_server_exits_2(photos):
    done = run_cli("classify", str(photos), "--url", "http://127.0.0.1:9", "--timeout", "5")
    assert done.returncode == 2
    assert "error: cannot reach the server at http://127.0.0.1:9" in done.stderr
    assert "Traceback" not in done.stderr


def test_progress_bar_on_a_terminal(photos, http_url):
    status, shown = run_on_terminal([CLI, "classify", str(photos), "--url", f"http://{http_url}"])
    assert status == 1
    assert "| 5/5 [" in shown, shown
    assert "img/s]" in shown


@pytest.fixture
def odd_name(tmp_path) -> Path:
    image = tmp_path / "my cat's photo.jpg"  # the command must quote it
    image.write_bytes(cat_jpeg())
    return image


def run_printed(command: str) -> bytes:
    assert shutil.which("curl"), "curl is part of the documented set-up"
    return subprocess.run(["sh", "-c", command], capture_output=True, check=True, timeout=60).stdout


def test_printed_raw_curl_command_runs_with_real_curl(odd_name, http_url):
    printed = run_cli("curl", str(odd_name), "--url", f"http://{http_url}", "--form", "raw")
    assert printed.returncode == 0, printed.stderr
    body = run_printed(printed.stdout)
    header = body[: body.index(b"}]}") + 3]
    result = tritonclient.http.InferResult.from_response_body(body, header_length=len(header))
    with DenseNetClient(f"http://{http_url}") as client:
        expected = [p.class_id for p in client.classify(odd_name)]
    assert result.as_numpy("CLASS_IDS")[0].tolist() == expected


def test_printed_json_curl_command_is_readable_and_honours_top_k(odd_name, http_url):
    printed = run_cli("curl", str(odd_name), "--url", f"http://{http_url}", "--form", "json", "--top-k", "3")
    response = json.loads(run_printed(printed.stdout))
    outputs = {o["name"]: o for o in response["outputs"]}
    assert outputs["LABELS"]["shape"] == [1, 3]
    with DenseNetClient(f"http://{http_url}") as client:
        expected = client.classify(odd_name, top_k=3)
    assert outputs["CLASS_IDS"]["data"] == [p.class_id for p in expected]
    assert outputs["LABELS"]["data"] == [p.label for p in expected]


def test_both_forms_run_as_one_script(odd_name, http_url):
    printed = run_cli("curl", str(odd_name), "--url", f"http://{http_url}")
    assert printed.stdout.startswith("# ")
    assert printed.stdout.count("\n# ") == 1
    output = run_printed(printed.stdout)
    assert output.count(b'"model_name":"densenet_ensemble"') == 2


def test_status(http_url, grpc_url):
    for url in (f"http://{http_url}", f"grpc://{grpc_url}"):
        done = run_cli("status", "--url", url)
        assert done.returncode == 0, done.stderr
        assert f"server  {url}  live: yes  ready: yes" in done.stdout
        assert "input   IMAGE UINT8 [-1, -1]" in done.stdout
