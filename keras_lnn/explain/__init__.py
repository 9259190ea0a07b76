"""`lnn-keras explain`: why a trained model decided, volume by volume, from its `.keras` file alone.

For each chosen volume one PNG: the volume's slices (a montage), each slice's contribution to
the logit (the head's per-slice logit before the slice mean, divided by the number of slices:
the bars sum to the logit), and, for LTC/CfC models, the state of every neuron over the slices.
Once per model, the NCP wiring diagram with the learned synapse strengths. Everything here returns
data or writes figures; the report's markdown of slice profiles is `keras_lnn.report.profiles`.

The modules:

    contributions   per-slice contributions to the logit, neuron states (from the layers), synapses
    profiles        mean per-slice contributions per class (data)
    inputs          a run's record, and whether its data fits the model
    volumes         `explain_model`: the figures of chosen volumes and of the wirings
    figures         the drawings

Example:

```python
from keras_lnn.explain import explain_model

result = explain_model("saved_models/exp1_adrenal/LiqExp1N2", worst=3, data_dir="../shared/medmnist")
result.figures  # [PosixPath('saved_models/exp1_adrenal/LiqExp1N2/explain/test_0042.png'), ...]
```
"""
from keras_lnn.explain.contributions import (
    NeuronStates, NotDecomposableError, SliceContributions, neuron_states, recurrent_layers, slice_contributions,
    synapse_strengths,
)
from keras_lnn.explain.profiles import slice_profiles
from keras_lnn.explain.volumes import ExplainResult, Explanation, choose_volumes, explain_model

__all__ = [
    "Explanation", "ExplainResult", "NeuronStates", "NotDecomposableError", "SliceContributions", "choose_volumes",
    "explain_model", "neuron_states", "recurrent_layers", "slice_contributions", "slice_profiles", "synapse_strengths",
]

