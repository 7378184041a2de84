import torch

from polydit.image.classifier import load_classifier
from polydit.image.data import load_digits_set
from polydit.image.metrics import baseline_metrics, quantize, sample_metrics


def test_shipped_classifier_is_accurate_on_the_held_out_split() -> None:
    test = load_digits_set("test")
    with torch.no_grad():
        accuracy = (load_classifier()(test.images).argmax(1) == test.labels).float().mean()
    assert accuracy >= 0.97


def test_real_train_digits_score_like_the_floor_and_the_baseline_does_not() -> None:
    train = load_digits_set("train")
    real = sample_metrics(train.images, train.labels)
    assert real["accuracy"] > 0.99
    # the only difference to the floor is the 8-bit quantisation of the samples
    assert abs(real["fd_ratio"] - 1.0) < 0.01
    baseline = baseline_metrics(num=500)
    assert baseline["fd_ratio"] > 2.0


def test_quantize_keeps_256_levels() -> None:
    x = torch.linspace(-1.2, 1.2, 1000)
    levels = torch.unique(quantize(x))
    assert len(levels) == 256 and levels.min() == -1 and levels.max() == 1


def test_eval_report_draws_the_confusion_matrix_of_what_the_classifier_saw(tmp_path):
    from PIL import Image

    from polydit.image.report import confusion, write_report

    counts = confusion(torch.tensor([0, 0, 1, 2]), torch.tensor([0, 1, 1, 2]), 3)
    assert counts.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    test = load_digits_set("test")
    png = write_report(tmp_path, test.images[:50], test.labels[:50], tuple("0123456789"))
    assert png == tmp_path / "report.png" and [p.name for p in tmp_path.iterdir()] == ["report.png"]
    assert Image.open(png).size == (1000, 460)
