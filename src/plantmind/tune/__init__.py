"""The plant's own language model: training records from the plant's documents, work orders
and sensor metadata (:mod:`~plantmind.tune.build`), near-duplicate removal and a split grouped
by source (:mod:`~plantmind.tune.dedup`, :mod:`~plantmind.tune.split`), LoRA fine-tuning
(:mod:`~plantmind.tune.train`), GGUF export (:mod:`~plantmind.tune.export`) and the base vs
tuned evaluation (:mod:`~plantmind.tune.evaluate`). Torch, transformers and peft are imported
only by training and export (``plantmind[finetune]``); building and splitting need none."""
