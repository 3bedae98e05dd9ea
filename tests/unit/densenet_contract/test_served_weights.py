"""The one wording of what is served, shared by the launcher's banner and `densenet-client status`."""

from densenet_contract.names import served_weights


def test_the_record_reads_as_weights_and_one_line_of_details():
    record = {
        "weights": "torchvision densenet121 IMAGENET1K_V1",
        "source_sha256": "a639ec97" + "0" * 56,
        "preprocessing": "torchvision",
        "source": "torchvision",
    }
    assert served_weights(record) == (
        "torchvision densenet121 IMAGENET1K_V1",
        f"source torchvision, sha256 a639ec97{'0' * 56}, preprocessing torchvision",
    )


def test_a_missing_record_says_so():
    weights, details = served_weights({})
    assert weights.startswith("not recorded")
    assert details == "source ?, sha256 ?, preprocessing ?"
