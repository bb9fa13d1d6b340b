"""Run the model's graph in plain Python instead of through dask's scheduler.

Rasa runs its model as a graph of components: once per message for NLU and once
per predicted action for the policies (about three runs per message). Each run
goes through ``DaskGraphRunner``, which rebuilds the minimal graph, hands it to
``dask.get`` and lets dask order and schedule a dozen function calls, one
after the other, in this one thread. Measured on this model
(``make profile`` and a loop over the real graph): 0.5 ms of the 1.4 ms NLU run
and 0.2 ms of the 0.8 ms policy run are dask's bookkeeping, about a tenth of the
server's CPU per message.

``SequentialGraphRunner`` computes the same thing: the same ``GraphNode``
objects, called with the same arguments (each parent's ``(name, output)``
pair, or the bare name of an input that was not given, as dask passes it), the
same result dict and the same ``GraphRunError`` for a ``RuntimeError``. It
works out the order of the nodes once per set of targets and then only calls
them. Nodes that do not depend on each other (the policies) run in a fixed
order instead of dask's; they only read the tracker and the domain.

``install()`` makes Rasa's ``MessageProcessor`` use it (``rasa_patches.install()``
calls it for every entry point). Training keeps Rasa's runner.
``tests/test_graph_runner.py`` compares both runners on the trained model.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text, Tuple

import rasa.core.processor
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphNode
from rasa.engine.runner.dask import DaskGraphRunner

# One step of a run: the node's name, the node, and the names it takes input from.
Step = Tuple[Text, GraphNode, Tuple[Text, ...]]


class SequentialGraphRunner(DaskGraphRunner):
    """DaskGraphRunner's results, computed by calling the nodes in order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Instantiate the nodes as DaskGraphRunner does."""
        super().__init__(*args, **kwargs)
        self._plans: Dict[Tuple[Text, ...], Tuple[Step, ...]] = {}

    def plan(self, targets: Tuple[Text, ...]) -> Tuple[Step, ...]:
        """Return the nodes the targets need, each after the nodes it takes input from."""
        plan = self._plans.get(targets)
        if plan is not None:
            return plan
        schema = self._graph_schema.minimal_graph_schema(list(targets))
        steps: List[Step] = []
        seen = set()

        def visit(name: Text) -> None:
            if name in seen or name not in schema.nodes:  # done, or an input
                return
            seen.add(name)
            needs = tuple(schema.nodes[name].needs.values())
            for parent in needs:
                visit(parent)
            steps.append((name, self._instantiated_nodes[name], needs))

        for target in targets:
            visit(target)
        plan = self._plans[targets] = tuple(steps)
        return plan

    def run(
        self,
        inputs: Optional[Dict[Text, Any]] = None,
        targets: Optional[List[Text]] = None,
    ) -> Dict[Text, Any]:
        """Run the nodes the targets need; return each target's output by name."""
        run_targets = tuple(targets if targets else self._graph_schema.target_names)
        plan = self.plan(run_targets)
        results: Dict[Text, Any] = {}
        for input_name, input_value in (inputs or {}).items():
            if isinstance(input_value, str) and any(input_value == step[0] for step in plan):
                raise GraphRunError(
                    f"Input value '{input_value}' clashes with a node name. Make sure "
                    f"that none of the input names passed to the `run` method are the "
                    f"same as node names in the graph schema."
                )
            results[input_name] = (input_name, input_value)
        try:
            for name, node, needs in plan:
                results[name] = node(*[results.get(parent, parent) for parent in needs])
        except RuntimeError as error:
            raise GraphRunError("Error running runner.") from error
        return dict(results[target] for target in run_targets)


def install() -> None:
    """Make Rasa's MessageProcessor load models with SequentialGraphRunner (idempotent)."""
    rasa.core.processor.DaskGraphRunner = SequentialGraphRunner
