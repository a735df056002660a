"""`ember.summary`: a table of every layer a forward pass calls, its output shape and its
parameter count, with totals (the lectures keep asking "how many parameters?")."""
from __future__ import annotations

from dataclasses import dataclass, field

from ember import backend
from ember.creation import zeros
from ember.errors import DTypeError
from ember.grad_mode import no_grad
from ember.tensor import Tensor


@dataclass
class LayerRow:
    name: str
    kind: str
    depth: int
    output_shape: object = None
    params: int = 0
    reused: bool = False     # a later call of a module already listed: params not counted


@dataclass
class Summary:
    """The result of `ember.summary`: rows, totals, and the printed table as str()."""

    rows: list = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    input_shape: tuple = ()

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    def __str__(self) -> str:
        headers = ("Layer (type)", "Output shape", "Param #")
        body = [("  " * row.depth + f"{row.name} ({row.kind})", _shape_text(row.output_shape),
                 "(reused)" if row.reused else f"{row.params:,}") for row in self.rows]
        widths = [max(len(r[i]) for r in [headers, *body]) for i in range(3)]
        rule = "=" * (sum(widths) + 4)

        def line(cells):
            return f"{cells[0]:<{widths[0]}}  {cells[1]:<{widths[1]}}  {cells[2]:>{widths[2]}}"

        lines = [f"Input shape: {list(self.input_shape)}", rule, line(headers), rule]
        lines += [line(r) for r in body]
        lines += [rule, f"Total params: {self.total_params:,}",
                  f"Trainable params: {self.trainable_params:,}",
                  f"Non-trainable params: {self.non_trainable_params:,}"]
        return "\n".join(lines)

    __repr__ = __str__


def _shape_text(shape) -> str:
    if shape is None:
        return "-"
    if isinstance(shape, tuple) and all(isinstance(s, int) for s in shape):
        return str(list(shape))
    return ", ".join(_shape_text(s) for s in shape)


def _output_shape(output):
    if isinstance(output, Tensor):
        return tuple(output.shape)
    if isinstance(output, (tuple, list)):
        return tuple(_output_shape(o) for o in output)
    return None


def summary(model, input_size=None, *, batch_size: int = 1, dtype=None, input_data=None,
            verbose: bool = True) -> Summary:
    """Run one forward pass on zeros (or `input_data`) and tabulate the layers it calls.

    Args:
        model: an ember.nn.Module.
        input_size: the shape of one example, without the batch dimension, e.g. (1, 28, 28).
        batch_size: the batch dimension of the dummy input.
        dtype: of the dummy input (float32 by default; int64 for token ids).
        input_data: a tensor to use instead of zeros.
        verbose: print the table.

    Example:
        >>> ember.summary(nn.Sequential(nn.Linear(40, 100), nn.ReLU(), nn.Linear(100, 10)), (40,))
        ... Total params: 5,110
    """
    if input_data is None:
        if input_size is None:
            raise ValueError("summary: give input_size (one example's shape) or input_data")
        size = (input_size,) if isinstance(input_size, int) else tuple(input_size)
        input_data = zeros((batch_size, *size),
                           dtype=backend.as_dtype(dtype) if dtype else None)
    rows, by_module, handles = [], {}, []
    depths = {id(m): name.count(".") + (1 if name else 0)
              for name, m in model.named_modules()}
    names = {id(m): name for name, m in model.named_modules()}

    counted: set[int] = set()       # parameters already in a row (shared ones count once)

    def before(module, inputs):
        own = [p for p in module.parameters(recurse=False) if id(p) not in counted]
        counted.update(id(p) for p in own)
        row = LayerRow(names.get(id(module), "?"), type(module).__name__,
                       max(depths.get(id(module), 1) - 1, 0),
                       params=sum(p.numel() for p in own), reused=id(module) in by_module)
        rows.append(row)
        by_module.setdefault(id(module), []).append(row)

    def after(module, inputs, output):
        pending = [r for r in by_module.get(id(module), []) if r.output_shape is None]
        if pending:
            pending[-1].output_shape = _output_shape(output)

    for name, module in model.named_modules():
        if name:  # the model itself is the whole table
            handles.append(module.register_forward_pre_hook(before))
            handles.append(module.register_forward_hook(after))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            model(input_data)
    except DTypeError as exc:
        raise DTypeError(f"summary: the forward pass on {input_data.dtype} input of shape "
                         f"{list(input_data.shape)} failed ({exc}); for token ids pass "
                         f"dtype=ember.int64") from exc
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    params = list(model.parameters())
    result = Summary(rows, sum(p.numel() for p in params),
                     sum(p.numel() for p in params if p.requires_grad),
                     tuple(input_data.shape))
    if verbose:
        print(result)
    return result
