import threading

from preprocess.background import BackgroundWriter


def test_items_are_written_in_order_and_close_flushes():
    written: list[list[int]] = []
    writer = BackgroundWriter(written.append)
    for i in range(100):
        writer.submit(i)
    writer.close()
    assert [item for batch in written for item in batch] == list(range(100))
    assert writer.failures == 0


def test_what_piles_up_is_written_in_one_call():
    release, written = threading.Event(), []

    def write(items):
        release.wait(10)  # the first call blocks while more items arrive
        written.append(items)

    writer = BackgroundWriter(write)
    writer.submit(0)
    for i in range(1, 5):
        writer.submit(i)
    release.set()
    writer.close()
    assert [item for batch in written for item in batch] == [0, 1, 2, 3, 4]
    assert len(written) <= 2


def test_a_failing_write_is_counted_and_the_writer_goes_on(capsys):
    written = []

    def write(items):
        if 1 in items:
            raise ValueError("boom")
        written.extend(items)

    writer = BackgroundWriter(write)
    writer.submit(1)
    writer.close()
    assert writer.failures == 1
    writer = BackgroundWriter(write)
    writer.submit(2)
    writer.close()
    assert written == [2]
    assert "metrics update failed: ValueError: boom" in capsys.readouterr().err
