"""Small stand-ins for an optimizer and a scheduler that keep PyTorch's state_dict contract,
and a tiny MLP with a training loop whose every step draws from ember's random generator."""
from __future__ import annotations

import ember


class MomentumSGD:
    """SGD with momentum as PyTorch computes it (buf = momentum * buf + grad; p -= lr * buf),
    with PyTorch's state_dict format: {"state": {index: {...}}, "param_groups": [...]}."""

    def __init__(self, params, lr: float, momentum: float) -> None:
        self.param_groups = [{"lr": lr, "momentum": momentum, "nesterov": False,
                              "params": list(params)}]
        self.state: dict[int, dict] = {}

    def zero_grad(self) -> None:
        for param in self.param_groups[0]["params"]:
            param.grad = None

    def step(self) -> None:
        group = self.param_groups[0]
        with ember.no_grad():
            for index, param in enumerate(group["params"]):
                state = self.state.setdefault(index, {"momentum_buffer": None})
                if state["momentum_buffer"] is None:
                    state["momentum_buffer"] = param.grad.clone()
                else:
                    state["momentum_buffer"].mul_(group["momentum"]).add_(param.grad)
                param.sub_(state["momentum_buffer"] * group["lr"])

    def state_dict(self) -> dict:
        group = self.param_groups[0]
        saved_group = {key: value for key, value in group.items() if key != "params"}
        saved_group["params"] = list(range(len(group["params"])))
        return {"state": {index: dict(state) for index, state in self.state.items()},
                "param_groups": [saved_group]}

    def load_state_dict(self, state_dict: dict) -> None:
        saved_group = state_dict["param_groups"][0]
        for key, value in saved_group.items():
            if key != "params":
                self.param_groups[0][key] = value
        self.state = {index: {name: value.clone() if isinstance(value, ember.Tensor) else value
                              for name, value in state.items()}
                      for index, state in state_dict["state"].items()}


class StepLR:
    """lr = base_lr * gamma ** (epoch // step_size), PyTorch's StepLR state format."""

    def __init__(self, optimizer, step_size: int, gamma: float) -> None:
        self.optimizer, self.step_size, self.gamma = optimizer, step_size, gamma
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._last_lr = list(self.base_lrs)

    def step(self) -> None:
        self.last_epoch += 1
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = base * self.gamma ** (self.last_epoch // self.step_size)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)


class MLP(ember.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.hidden = ember.nn.Linear(4, 16)
        self.out = ember.nn.Linear(16, 2)

    def forward(self, x):
        return self.out(ember.relu(self.hidden(x)))


def train(model, optimizer, scheduler, data_generator, steps: int) -> None:
    """Steps of regression on data from `data_generator`, with input noise drawn from
    ember's default generator (like dropout), so resuming needs the random state back."""
    for _ in range(steps):
        x = ember.randn(8, 4, generator=data_generator)
        y = ember.randn(8, 2, generator=data_generator)
        noisy = x + 0.1 * ember.rand(8, 4)
        loss = ((model(noisy) - y) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
