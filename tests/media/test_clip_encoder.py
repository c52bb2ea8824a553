"""ClipEncoder's graph replay logic (TowerGraphs): which shapes are captured, replay semantics, the fallback.

The CUDA capture itself needs a GPU (checked on one: same features as the eager forward); here a stand-in
graph runs the forward into the static output, as a replay does.
"""

import torch

from raivtools.media.clip import TowerGraphs


class _StandInGraphs(TowerGraphs):
    """TowerGraphs with a graph whose replay runs the forward on the static input into the static output."""

    def _capture(self, batch, key):
        static_input, static_output = batch.clone(), self.forward(batch).clone()

        class Graph:
            def replay(graph_self):
                static_output.copy_(self.forward(static_input))

        self._graphs[key] = (Graph(), static_input, static_output)
        self.captured.append(key[0])
        return True


def _counting_forward():
    calls = []

    def forward(batch):
        calls.append(tuple(batch.shape))
        return batch * 2

    return forward, calls


def test_recurring_shapes_are_captured_once_and_replayed():
    forward, calls = _counting_forward()
    graphs = _StandInGraphs(forward, torch.device("cpu"), after=2, limit=2)
    graphs.captured = []
    outputs = [graphs(torch.full((4, 3), float(i))).clone() for i in range(5)]
    assert graphs.captured == [(4, 3)]  # captured at its second sighting, then replayed
    assert all(torch.equal(out, torch.full((4, 3), 2.0 * i)) for i, out in enumerate(outputs))
    graphs(torch.ones(1, 3))  # a one-off shape (a shard's short last batch) stays eager
    assert graphs.captured == [(4, 3)]


def test_no_more_graphs_than_the_limit():
    forward, _ = _counting_forward()
    graphs = _StandInGraphs(forward, torch.device("cpu"), after=1, limit=2)
    graphs.captured = []
    for rows in (1, 2, 3, 3, 1):
        assert torch.equal(graphs(torch.ones(rows, 2)), torch.full((rows, 2), 2.0))
    assert graphs.captured == [(1, 2), (2, 2)]


def test_a_failed_capture_warns_once_and_stays_eager(capsys):
    forward, calls = _counting_forward()
    graphs = TowerGraphs(forward, torch.device("cpu"), after=1)  # no CUDA here: capturing fails
    for _ in range(3):
        assert torch.equal(graphs(torch.ones(2, 2)), torch.full((2, 2), 2.0))
    assert capsys.readouterr().err.count("cannot be captured as a CUDA graph") == 1
    assert graphs._failed and not graphs._graphs
