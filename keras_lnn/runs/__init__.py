"""Running experiments: every model of an experiment trained, evaluated and saved, resumably.

Layout, for `run_experiment("exp3", "nodule")`::

    saved_models/exp3_nodule/            one folder per run ("_64" for 64^3, "_seed<k>" with several seeds)
        summary.csv                      a row per model (finished or failed)
        models.config                    TF Serving config serving the run's models by name
        CNNExp3N1/
            1/                           SavedModel (serving_default: volume -> probability)
            model.keras
            history.csv                  a row per epoch, `epoch` from 0
            predictions.csv              val and test probabilities, a row per volume (for paired tests, ROC curves)
            medmnist/                    MedMNIST's own result files of val and test (`python -m medmnist evaluate`)
            MODEL_CARD.md                what the model is, its data, protocol, test metrics, intended use
            metrics.json                 written last: its presence means the model is done (docs/records.md)
            settings.json                what the folder's results come from (checked on rerun)
            sessions.json                while training: which machine trains from which epoch
        .CNNExp3N1.lock(.json)           while a process trains the model: its lock and who holds it

The modules follow a run's parts:

    config       the dataset a run's settings (`keras_lnn.settings.RunConfig`) name
    plan         run folders per experiment and seed (`plan_runs`), and shards of the models to train
    settings     what a model folder's results come from; results from other settings refused
    model_run    one model (`ModelRun`: its folder, settings, log folder) trained, evaluated and saved under its lock
    record       its metrics.json (`metrics_record`), the split records from `keras_lnn.evaluation`
    predictions  predictions.csv written and read (with `_tta` columns)
    card         MODEL_CARD.md
    medmnist_files MedMNIST's own result files (`python -m medmnist evaluate` reads them)
    outputs      the model card and MedMNIST's files of one model, written together
    artifacts    what a rerun reads back from a model folder, each damaged file named in one error
    evaluate     `evaluate_runs`: finished models' metrics recomputed from predictions.csv (`lnn-keras evaluate`)
    workers      models trained at once in worker processes (`jobs`)
    summary      a run folder's summary.csv
    experiment   `run_experiment`: all of the above in order, then the exports

Example:

```python
from keras_lnn.runs import run_experiment
from keras_lnn.settings import RunConfig

results = run_experiment("exp1", "adrenal", models=["CNNExp1N4"], data_dir="../shared/medmnist")
config = RunConfig("exp1", "adrenal", models=("CNNExp1N4",), seeds=(0, 1), data_dir="../shared/medmnist")
results = run_experiment(config)
```
"""
from keras_lnn.runs.config import VOLUME_DTYPE, load_run_data
from keras_lnn.runs.evaluate import EvaluateOutcome, evaluate_model, evaluate_runs
from keras_lnn.runs.experiment import run_experiment
from keras_lnn.runs.card import model_card, write_model_card
from keras_lnn.runs.medmnist_files import result_filename, run_label, write_result_files
from keras_lnn.runs.model_run import SESSIONS_FILE, ModelRun, run_model, run_model_locked
from keras_lnn.runs.outputs import write_evaluation_files
from keras_lnn.runs.plan import RunPlan, parse_shard, plan_runs, plan_tasks, run_name
from keras_lnn.runs.predictions import Predictions, prediction_rows, read_predictions, write_predictions
from keras_lnn.runs.record import metrics_record
from keras_lnn.runs.settings import check_settings, model_settings
from keras_lnn.runs.summary import SUMMARY_COLUMNS, summary_rows, write_summary

__all__ = [
    "EvaluateOutcome", "ModelRun", "Predictions", "RunPlan", "SESSIONS_FILE", "SUMMARY_COLUMNS", "VOLUME_DTYPE", "check_settings",
    "evaluate_model", "evaluate_runs", "load_run_data", "metrics_record", "model_card", "model_settings",
    "parse_shard", "plan_runs", "plan_tasks", "prediction_rows", "read_predictions", "result_filename",
    "run_experiment", "run_label", "run_model", "run_model_locked", "run_name", "summary_rows",
    "write_evaluation_files", "write_model_card", "write_predictions", "write_result_files", "write_summary",
]
