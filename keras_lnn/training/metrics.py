"""A trained model's predicted probabilities and their exact metrics (accuracy, ROC AUC, cross-entropy)."""
import keras
import numpy as np


def compute_metrics(labels, probabilities):
    """Accuracy, ROC AUC and cross-entropy of predicted probabilities.

    Binary (probabilities `(N, 1)`): accuracy at threshold 0.5 (a positive is
    `p > 0.5`, as MedMNIST's evaluator counts it), scikit-learn's ROC AUC and
    binary cross-entropy. Multi-class (`(N, C)`): argmax accuracy, the macro
    one-vs-rest AUC of MedMNIST's evaluator, and categorical cross-entropy.
    AUC is None when the labels hold a single class.

    Returns:
        {"acc": float, "auc": float or None, "loss": float}
    """
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels).reshape(-1).astype(int)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    eps = keras.config.epsilon()  # Keras's own clipping, so the loss matches model.evaluate
    clipped = np.clip(probabilities, eps, 1 - eps)
    if probabilities.shape[-1] == 1:
        p = probabilities[:, 0]
        acc = float(np.mean((p > 0.5) == labels))
        loss = float(-np.mean(labels * np.log(clipped[:, 0]) + (1 - labels) * np.log(1 - clipped[:, 0])))
        auc = float(roc_auc_score(labels, p)) if len(np.unique(labels)) == 2 else None
    else:
        acc = float(np.mean(np.argmax(probabilities, axis=1) == labels))
        loss = float(-np.mean(np.log(clipped[np.arange(len(labels)), labels])))
        per_class = [
            roc_auc_score(labels == c, probabilities[:, c])
            for c in range(probabilities.shape[1])
            if 0 < np.sum(labels == c) < len(labels)
        ]
        auc = float(np.mean(per_class)) if per_class else None
    return {"acc": acc, "auc": auc, "loss": loss}


def predict(model, x, batch_size):
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
