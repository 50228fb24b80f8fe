"""The configurations of `search layerwise` (Bengio 2012, section 3.3.4), as parameters.

A layerwise search chooses the pre-training of hidden layer 1 first, then of layer 2 on layer
1's output, and so on, then the fine-tuning hyper-parameters. Its configurations stay plain
parameter dicts, so that binding, keys, the store and the results table treat them like any
other:

- `name@k`: the value of the pre-training parameter `$name` for hidden dense layer k (1-based);
  bound into `Pretrain.layers[k - 1]`.
- `@layers`: N marks a stage's configuration: the network cut after its N-th hidden dense
  layer, trained only as far as the stage's criterion needs (`stage_config`). Such a
  configuration is a means of choosing, never a candidate for the final model.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from . import config as c

LAYERS = "@layers"


def layer_param(name: str, layer: int) -> str:
    """The parameter holding `$name`'s value for hidden dense layer `layer` (1-based)."""
    return f"{name}@{layer}"


def is_stage(params: Mapping[str, Any]) -> bool:
    """Whether the parameters are a layerwise stage's (a cut network), not a whole network's."""
    return LAYERS in params


def is_cut(params: Mapping[str, Any], search: c.Search) -> bool:
    """Whether a configuration trains less than the whole network: a stage's by reconstruction
    (no supervised epoch), or below the top layer. A supervised top stage trains the whole
    network, the very configuration the fine-tuning asks for with nothing else to search."""
    return is_stage(params) and (search.criterion == "reconstruction" or
                                 int(params[LAYERS]) < search.layers)


def has_next_stage(params: Mapping[str, Any], search: c.Search) -> bool:
    """Whether the parameters are a layerwise stage's below the top layer (its pre-trained
    stack is what the next stage continues from)."""
    return is_stage(params) and int(params[LAYERS]) < search.layers


def lower_stage(params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The parameters of the stage below a stage k > 1's configuration: the same without
    layer k's values, cut after layer k - 1 (the configuration whose pre-trained stack stage
    k continues from, when it is the one stage k - 1 chose); None for any other
    configuration."""
    if not is_stage(params) or int(params[LAYERS]) < 2:
        return None
    layer = int(params[LAYERS])
    lower = {k: v for k, v in params.items() if k.rpartition("@")[2] != str(layer)}
    lower[LAYERS] = layer - 1
    return lower


def split(params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[int, dict[str, Any]],
                                              int | None]:
    """(the plain parameters, {layer: {name: value}} of the per-layer ones, the stage's layer
    count or None)."""
    plain: dict[str, Any] = {}
    per_layer: dict[int, dict[str, Any]] = {}
    for key, value in params.items():
        name, at, layer = key.rpartition("@")
        if key == LAYERS:
            continue
        if at and name and layer.isdigit():
            per_layer.setdefault(int(layer), {})[name] = value
        else:
            plain[key] = value
    stage = params.get(LAYERS)
    return plain, per_layer, None if stage is None else int(stage)


def pretrain_names(pretrain: c.Pretrain | None) -> tuple[str, ...]:
    """The `$names` the pre-training settings use, in field order."""
    if pretrain is None:
        return ()
    values = (getattr(pretrain, f.name) for f in dataclasses.fields(pretrain))
    return tuple(dict.fromkeys(v.name for v in values if isinstance(v, c.Param)))


def stage_config(config: c.Config, layers: int, criterion: str) -> c.Config:
    """The configuration a stage trains: the network cut after its `layers`-th hidden dense
    layer (the layers following it before the next dense one, such as its dropout, kept); by
    reconstruction, no supervised epoch at all (the stage reads the pre-training's errors)."""
    cut, dense = [], 0
    for layer in config.network:
        if isinstance(layer, c.Dense):
            if dense == layers:
                break
            dense += 1
        cut.append(layer)
    config = dataclasses.replace(config, network=tuple(cut))
    if criterion == "reconstruction":
        config = dataclasses.replace(config, train=dataclasses.replace(config.train, epochs=0))
    return config


def criterion_column(layers: int, criterion: str) -> str:
    """The results-table column a stage of `layers` layers is chosen by ("" for the run's own
    selection metric): the top layer's reconstruction error on the validation inputs."""
    return f"pretrain_dense{layers - 1}_valid_error" if criterion == "reconstruction" else ""


def _fixed_dense(network: tuple[Any, ...]) -> int | None:
    """The hidden dense layers of a network template, None when a searched repeat makes their
    number vary."""
    total = 0
    for layer in network:
        if isinstance(layer, c.Dense):
            total += 1
        elif isinstance(layer, c.Repeat):
            inner = _fixed_dense(layer.body)
            if not isinstance(layer.count, int) or inner is None:
                return None
            total += layer.count * inner
    return total


def check(ck: Any, search: c.Search, config: c.Config, span: Any,
          uses: Mapping[str, list[Any]]) -> c.Search:
    """A layerwise search's requirements, reported through the checker `ck` at the strategy's
    `span`; the search with its pre-trained dimensions and layer count filled in. `uses`: each
    `$name`'s uses in the whole spec."""
    names = pretrain_names(config.pretrain)
    hint = "for example: `pretrain denoising lr $pt_lr noise $noise` and, under search, " \
           "`pt_lr ~ log_uniform 1e-3 .. 1e-1`"
    if config.pretrain is None:
        ck.error(span, "layerwise search chooses each layer's pre-training, yet there is no "
                 "`pretrain` statement", hint)
        return search
    if not names:
        ck.error(span, "layerwise search chooses each layer's pre-training, yet `pretrain` "
                 "searches no value", hint)
        return search
    in_pretrain = {name: sum(1 for f in dataclasses.fields(config.pretrain)
                             if getattr(config.pretrain, f.name) == c.Param(name))
                   for name in names}
    for name in names:
        if len(uses.get(name, ())) > in_pretrain[name]:
            ck.error(span, f"'${name}' is used in `pretrain` and elsewhere: layerwise search "
                     "chooses it layer by layer, apart from the fine-tuning values",
                     "give pre-training its own $name")
    for dim in search.dims:
        parent = dim.condition.param if dim.condition else None
        if parent is not None and (parent in names) != (dim.name in names):
            ck.error(span, f"'{dim.name}' is conditioned on '{parent}', which belongs to the "
                     "other stage (pre-training or fine-tuning)",
                     "condition a dimension on one of its own stage")
    layers = _fixed_dense(config.network)
    if layers is None:
        ck.error(span, "layerwise search needs a fixed number of hidden layers; the network "
                 "repeats a block a searched number of times", "fix the repeat count")
        return search
    if layers == 0:
        ck.error(span, "layerwise search pre-trains hidden layers, yet the network has no "
                 "dense layer", "add `dense N ...` to the network")
    if search.extend:
        ck.error(span, "layerwise search does not widen its intervals (`extend`): each "
                 "stage's choice is fixed before the next starts", "remove `extend`; widen "
                 "an interval the run warns about and run again (finished trials are kept)")
    if search.prune is not None:
        ck.error(span, "layerwise search does not go with `prune`: its stages are chosen by "
                 "different criteria", "remove `prune`")
    return dataclasses.replace(search, pretrained=names, layers=layers)
