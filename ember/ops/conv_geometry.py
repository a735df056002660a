"""Where the windows of a convolution or pooling lie: argument normalisation, PyTorch's
output-size formula out = floor((N + 2P - D(F-1) - 1)/S) + 1, and shape errors that
explain it with the numbers filled in."""
from __future__ import annotations

from dataclasses import dataclass

from ember.errors import ShapeError

@dataclass(frozen=True)
class Geometry:
    """The windows of a 2-D convolution or pooling (a 1-D op is 2-D with height 1).

    Window (oh, ow) covers the padded input's rows oh*SH + i*DH and columns ow*SW + j*DW
    for kernel offsets 0 <= i < KH, 0 <= j < KW.
    """

    input_size: tuple      # (H, W) before padding
    kernel: tuple          # (KH, KW)
    stride: tuple          # (SH, SW)
    padding: tuple         # ((top, bottom), (left, right))
    dilation: tuple        # (DH, DW)
    output_size: tuple     # (OH, OW)

    @property
    def array_padding(self) -> tuple:
        """The padding of the array the windows are read from: `padding`, with the bottom
        and right grown where a ceil-mode window runs past the padded input."""
        grown = []
        for n, (before, after), o, s, d, k in zip(self.input_size, self.padding,
                                                  self.output_size, self.stride,
                                                  self.dilation, self.kernel):
            needed = (o - 1) * s + d * (k - 1) + 1
            grown.append((before, max(after, needed - n - before)))
        return tuple(grown)

    @property
    def array_size(self) -> tuple:
        """(Hp, Wp): the size of the padded array the windows are read from."""
        (top, bottom), (left, right) = self.array_padding
        return self.input_size[0] + top + bottom, self.input_size[1] + left + right

    @property
    def is_padded(self) -> bool:
        return any(p for pair in self.array_padding for p in pair)

    def offsets(self):
        """The kernel offsets (i, j) in row-major order (the order PyTorch scans a window)."""
        for i in range(self.kernel[0]):
            for j in range(self.kernel[1]):
                yield i, j

    def window_slices(self, i: int, j: int) -> tuple:
        """Slices of the padded input's (rows, columns) holding offset (i, j) of every window."""
        (kh_step, kw_step), (sh, sw) = self.dilation, self.stride
        (oh, ow) = self.output_size
        return (slice(i * kh_step, i * kh_step + sh * (oh - 1) + 1, sh),
                slice(j * kw_step, j * kw_step + sw * (ow - 1) + 1, sw))


# --- arguments -------------------------------------------------------------------------


def as_tuple(op: str, name: str, value, dims: int, minimum: int) -> tuple:
    """An int, or a tuple of `dims` ints, as a tuple; each at least `minimum`."""
    values = (value,) * dims if isinstance(value, int) else tuple(value)
    if len(values) == 1 and dims > 1:
        values = values * dims
    if len(values) != dims or not all(isinstance(v, int) and not isinstance(v, bool)
                                      for v in values):
        raise TypeError(f"{op}: {name} must be an int or a tuple of {dims} ints, got {value!r}")
    if any(v < minimum for v in values):
        rule = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{op}: {name} must be {rule}, got {value!r}")
    return values


def conv_padding(op: str, padding, kernel: tuple, dilation: tuple, stride: tuple) -> tuple:
    """((before, after), ...) per spatial dimension from an int, a tuple, 'valid' or 'same'.

    'same' pads D(F-1) in total, floor of half before and the rest after (PyTorch's split,
    so an even kernel gets one more row of padding at the bottom and on the right).
    """
    if isinstance(padding, str):
        if padding == "valid":
            return tuple((0, 0) for _ in kernel)
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride}); use an explicit padding")
            totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
            return tuple((t // 2, t - t // 2) for t in totals)
        raise ValueError(f"{op}: invalid padding string {padding!r}, should be one of "
                         "'valid', 'same', an int or a tuple of ints")
    return tuple((p, p) for p in as_tuple(op, "padding", padding, len(kernel), 0))


# --- sizes -----------------------------------------------------------------------------


def _padding_terms(before: int, after: int) -> tuple:
    """('2P', '2*1') or ('P_before + P_after', '1 + 2'): the formula's padding term."""
    if before == after:
        return "2P", f"2*{before}"
    return "P_before + P_after", f"{before} + {after}"


UNITS = {"height": "row(s)", "width": "column(s)", "length": "position(s)"}


def explain_size(n: int, k: int, s: int, before: int, after: int, d: int) -> str:
    """'out = floor((N + 2P - D(F-1) - 1)/S) + 1 = floor((28 + 2*0 - 1*(5-1) - 1)/2) + 1
    = 12': the output-size formula with one axis's numbers filled in."""
    term, numbers = _padding_terms(before, after)
    span = n + before + after - d * (k - 1) - 1
    return (f"out = floor((N + {term} - D(F-1) - 1)/S) + 1 = floor(({n} + {numbers} - "
            f"{d}*({k}-1) - 1)/{s}) + 1 = {span // s + 1}")


def output_length(op: str, axis: str, n: int, k: int, s: int, before: int, after: int,
                  d: int, ceil_mode: bool = False, exact: bool = False) -> int:
    """PyTorch's output length along one axis, or a ShapeError that shows the formula.

    In ceil mode the last window may run past the end, but it must start inside the input
    or the left padding (otherwise it is dropped), as in PyTorch.
    """
    span = n + before + after - d * (k - 1) - 1
    unit = UNITS[axis]
    if span < 0:
        raise ShapeError(
            f"{op}: the kernel does not fit the input along {axis}: the input has N = {n} "
            f"{unit} plus padding {before} + {after}, but the dilated kernel spans "
            f"D(F-1)+1 = {d}*({k}-1)+1 = {d * (k - 1) + 1}. "
            f"{explain_size(n, k, s, before, after, d)}, and an output needs at least 1: pad "
            f"the input more, or use a smaller kernel or dilation.")
    if exact and span % s:
        leftover = span % s
        term, numbers = _padding_terms(before, after)
        raise ShapeError(
            f"{op}: the stride does not tile the input exactly along {axis} (exact=True): "
            f"N + {term} - D(F-1) - 1 = {n} + {numbers} - {d}*({k}-1) - 1 = {span} is not "
            f"divisible by S = {s} ({span} = {s}*{span // s} + {leftover}), so the last "
            f"{leftover} {unit} of the padded input are never covered by a window: "
            f"{explain_size(n, k, s, before, after, d)} with {leftover} left over. Add "
            f"{s - leftover} {unit} of padding or remove {leftover} from the input, or "
            f"pass exact=False.")
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    if (out - 1) * s >= n + before:     # the last window would start in the right padding
        out -= 1
    return out


AXES = {1: ("length",), 2: ("height", "width")}


def make_geometry(op: str, input_size: tuple, kernel: tuple, stride: tuple, padding: tuple,
                  dilation: tuple, ceil_mode: bool = False, exact: bool = False) -> Geometry:
    """The Geometry of a 1-D or 2-D op from per-dimension arguments (`padding` as
    ((before, after), ...)); a 1-D op gets a height-1 first axis."""
    dims = len(input_size)
    output = tuple(output_length(op, axis, n, k, s, before, after, d, ceil_mode, exact)
                   for axis, n, k, s, (before, after), d
                   in zip(AXES[dims], input_size, kernel, stride, padding, dilation))
    if dims == 1:
        return Geometry((1,) + input_size, (1,) + kernel, (1,) + stride,
                        ((0, 0),) + padding, (1,) + dilation, (1,) + output)
    return Geometry(input_size, kernel, stride, padding, dilation, output)


# --- channels --------------------------------------------------------------------------


def check_conv_shapes(op: str, input_shape: tuple, weight_shape: tuple, bias_shape,
                      groups: int, transposed: bool = False) -> int:
    """Check that input, weight and bias agree on channels and groups; returns the number
    of output channels. Weight layout: (out, in/groups, *kernel) for a convolution,
    (in, out/groups, *kernel) for a transposed one (PyTorch's)."""
    spatial = len(weight_shape) - 2
    if len(input_shape) != spatial + 2:
        raise ShapeError(f"{op}: expected a {spatial + 2}-D input (N, C, "
                         f"{', '.join(AXES.get(spatial, ('...',)))}) for a weight of shape "
                         f"{weight_shape}, got an input of shape {input_shape}")
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    channels = input_shape[1]
    divided = weight_shape[0]
    if divided % groups:
        role = "in_channels" if transposed else "out_channels"
        raise ShapeError(f"{op}: groups={groups} must divide the weight's {role} (its "
                         f"dimension 0): weight shape {weight_shape} has {divided}, and "
                         f"{divided} % {groups} = {divided % groups}")
    if transposed:
        expected, rule = weight_shape[0], f"weight.shape[0] = {weight_shape[0]}"
        out_channels = weight_shape[1] * groups
    else:
        expected = weight_shape[1] * groups
        rule = f"weight.shape[1] * groups = {weight_shape[1]} * {groups} = {expected}"
        out_channels = weight_shape[0]
    if channels != expected:
        hint = ""
        if groups > 1 and channels % groups:
            hint = (f" (groups={groups} must also divide the input's channels: {channels} % "
                    f"{groups} = {channels % groups})")
        raise ShapeError(f"{op}: the input has {channels} channels (dimension 1 of input shape "
                         f"{input_shape}), but the weight of shape {weight_shape} expects "
                         f"in_channels = {rule}{hint}")
    if bias_shape is not None and tuple(bias_shape) != (out_channels,):
        raise ShapeError(f"{op}: bias should have shape ({out_channels},), one value per "
                         f"output channel of the weight of shape {weight_shape}; got bias of "
                         f"shape {tuple(bias_shape)}")
    return out_channels
