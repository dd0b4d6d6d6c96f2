"""The controls' models (qhybrid.controls says what each one takes away): built from the
run's model builder, so everything but the quantum part is the hybrid's."""

from __future__ import annotations

from torch import nn

from qhybrid.controls import frozen_spec, separable_spec, trainable_count


class MatchedLayer(nn.Module):
    """The quantum layer's classical stand-in for classical_matched: ``n_inputs`` angles in,
    ``n_outputs`` numbers in (-1, 1) out (an expectation value's range), tanh(W x + b), or through
    a tanh hidden layer when one of at least min(n_inputs, n_outputs) units (no bottleneck
    narrower than the map itself) comes nearer the circuit's parameter count."""

    def __init__(self, n_inputs: int, n_outputs: int, target: int):
        super().__init__()
        self.n_inputs, self.n_outputs = n_inputs, n_outputs
        self.hidden = matched_hidden(n_inputs, n_outputs, target)
        if self.hidden == 0:
            self.net = nn.Sequential(nn.Linear(n_inputs, n_outputs), nn.Tanh())
        else:
            self.net = nn.Sequential(nn.Linear(n_inputs, self.hidden), nn.Tanh(), nn.Linear(self.hidden, n_outputs),
                                     nn.Tanh())

    def forward(self, x):
        return self.net(x)


def layer_size(n_inputs: int, n_outputs: int, hidden: int) -> int:
    """MatchedLayer's parameters with ``hidden`` units (0: one tanh(W x + b) layer)."""
    return n_inputs * n_outputs + n_outputs if hidden == 0 else hidden * (n_inputs + 1) + n_outputs * (hidden + 1)


def matched_hidden(n_inputs: int, n_outputs: int, target: int) -> int:
    """The hidden width (0: none) whose layer's parameter count is nearest ``target``, among
    widths of at least min(n_inputs, n_outputs); on a tie the smaller layer."""
    narrowest = min(n_inputs, n_outputs)
    widest = max(narrowest, target // (n_inputs + 1 + n_outputs) + 1)
    widths = [0, *range(narrowest, widest + 1)]
    return min(widths, key=lambda h: (abs(layer_size(n_inputs, n_outputs, h) - target),
                                      layer_size(n_inputs, n_outputs, h)))


def make_control(name: str, build, spec, backend) -> nn.Module:
    """The control ``name`` of the run's model; ``build(spec, backend)`` builds a run's model
    (the same initial draws as the hybrid's: the quantum part keeps its place in the order)."""
    if name == "separable":
        return build(separable_spec(spec), backend)
    if name == "frozen_quantum":
        model = build(frozen_spec(spec), backend)
        for parameter in model.quantum.parameters():  # quantum LoRA adapters too: the circuit stays as drawn
            parameter.requires_grad_(False)
        return model
    model = build(spec, backend)
    model.quantum = MatchedLayer(model.quantum.n_inputs, model.quantum.n_outputs, trainable_count(model.quantum))
    return model
