"""The pictures of a classifier's training: augmented views, curves, confusion, test images."""

import numpy as np

from common.figures import save_figure


def plot_augmented_views(plt, augmenter, x_train, y_train, class_names, path, views=5):
    """Each row one training image, then what the network sees of it in `views` epochs."""
    images = x_train[:4].astype("float32") / 255.0
    fig, axes = plt.subplots(4, views + 1, figsize=(1.25 * (views + 1), 5.4), squeeze=False)
    for col in range(views + 1):
        shown = images if col == 0 or augmenter is None else augmenter(images, training=True)
        for row in range(4):
            axes[row, col].imshow(np.clip(np.asarray(shown[row]), 0, 1))
            axes[row, col].set_xticks([])
            axes[row, col].set_yticks([])
        axes[0, col].set_title("original" if col == 0 else f"augmented {col}", fontsize=8)
    for row in range(4):
        axes[row, 0].set_ylabel(class_names[y_train[row]], fontsize=9)
    if augmenter is None:
        what = "the originals only (--no-augment)"
    else:
        what = ", ".join(type(layer).__name__ for layer in augmenter.layers)
    fig.suptitle(f"What the network sees: {what}", fontsize=10)
    return save_figure(fig, path)


def plot_curves(plt, history, path, note=""):
    """Loss and accuracy per epoch, training against validation; the gap is overfitting."""
    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key in ((ax_loss, "loss"), (ax_acc, "accuracy")):
        ax.plot(epochs, history[key], "o-", label=f"training {key}")
        ax.plot(epochs, history[f"val_{key}"], "s-", label=f"validation {key}")
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    gap = history["accuracy"][-1] - history["val_accuracy"][-1]
    ax_acc.set_title(f"last epoch: training − validation = {gap:+.1%}")
    ax_loss.set_title("validation loss rising while training loss falls = overfitting")
    if note:
        fig.text(0.5, -0.07, note, ha="center", fontsize=8)
    return save_figure(fig, path)


def plot_confusion(plt, confusion, class_names, path):
    """Rows: the true class; columns: the predicted class."""
    n = len(class_names)
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    ax.imshow(confusion, cmap="Blues")
    ax.set_xticks(range(n), class_names, rotation=45, ha="right")
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = confusion.max() or 1
    for i in range(n):
        for j in range(n):
            colour = "white" if confusion[i, j] > top / 2 else "black"
            ax.text(j, i, confusion[i, j], ha="center", va="center", fontsize=7, color=colour)
    ax.set_title("confusion matrix on the test images")
    return save_figure(fig, path)


def plot_test_predictions(plt, x_test, y_test, predicted, class_names, path):
    """24 test images with the true and the predicted class; mistakes in red."""
    fig, axes = plt.subplots(4, 6, figsize=(9, 7.6))
    fig.subplots_adjust(hspace=0.55)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(x_test):
            continue
        ax.imshow(x_test[i])
        right = predicted[i] == y_test[i]
        ax.set_title(
            f"{class_names[y_test[i]]}\n→ {class_names[predicted[i]]}",
            fontsize=8,
            color="green" if right else "red",
        )
    fig.suptitle("test images: true class → predicted (red = wrong)")
    return save_figure(fig, path)
