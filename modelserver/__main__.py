"""``python -m modelserver``: TF Serving's gRPC API over a models folder."""

from common.tf_runtime import import_tensorflow

import_tensorflow()

from modelserver.grpc_server import main  # noqa: E402 - after TensorFlow's quiet import

raise SystemExit(main())
