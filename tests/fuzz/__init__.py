"""A seeded mutation fuzzer over the importers and the compile pipeline (issue 14).

`mutators` turns a seed model (the bundled .tflite/.onnx files, or any folder of models) into a mutant:
byte flips, interesting integers, truncation, and structure-aware edits of TFLite flatbuffer fields and
ONNX protobuf fields. `campaign` runs numbered cases in worker processes with a per-case timeout and
sorts every outcome: loaded, a project error (McuError), a project error from an importer's defence-in-depth
backstop, an uncaught exception (with its site), a hang or a dead process. Case n of a campaign seed is
always the same mutant, so any finding is reproduced by its number.

    python -m tests.fuzz --cases 1000000 --jobs 2 --save /tmp/fuzz-findings
"""
