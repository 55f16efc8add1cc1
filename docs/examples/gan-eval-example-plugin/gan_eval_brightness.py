"""Mean brightness: a complete gan-eval metric plugin (see docs/writing-a-metric-plugin.md)."""

import gan_eval


class MeanBrightness(gan_eval.Metric):
    name, primary, reference = "brightness", "mean", "unused"
    summary = "mean pixel value of the RGB images, 0-255 (example plugin)"

    def state_spec(self):  # float64 sums merge exactly across batches, workers and shards
        return {"total": "sum", "count": "sum"}

    def update(self, state, inputs):  # inputs["images"]: uint8 N×3×H×W on the run's device
        state.add("total", inputs["images"].double().sum())
        state.add("count", inputs["images"].numel())

    def compute(self, generated, reference):
        return {"mean": float(generated.get("total") / generated.get("count"))}


@gan_eval.hookimpl
def register_metrics():
    return [MeanBrightness]
