#!/usr/bin/env python3
"""Submits a job to a dip-server from Python, using only the .proto files (no Swift).

    pip install grpcio grpcio-tools
    python3 -m grpc_tools.protoc -I Sources/DistributedImagingGRPC/Protos \\
        --python_out=Examples/PythonClient --grpc_python_out=Examples/PythonClient \\
        dip/v1/model.proto dip/v1/services.proto
    python3 Examples/PythonClient/submit.py 127.0.0.1:7000 photos 'grayscale | gaussian(size: 5)'

Set DIP_AUTH_TOKEN when the cluster uses a shared token. Prints every event kind as it arrives
and the receipt's status and message; exits 0 when the job succeeded.
"""
import os
import sys

import grpc
from dip.v1 import model_pb2, services_pb2, services_pb2_grpc


def main() -> int:
    server = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:7000"
    directory = sys.argv[2] if len(sys.argv) > 2 else "photos"
    pipeline = sys.argv[3] if len(sys.argv) > 3 else "edges"
    token = os.environ.get("DIP_AUTH_TOKEN")
    metadata = [("authorization", f"Bearer {token}")] if token else []
    with grpc.insecure_channel(server) as channel:
        jobs = services_pb2_grpc.JobServiceStub(channel)
        request = services_pb2.SubmitJobRequest(
            protocol_version=model_pb2.PROTOCOL_VERSION_1,
            job=model_pb2.JobRequest(input_directory=directory, pipeline=pipeline),
        )
        for response in jobs.SubmitJob(request, metadata=metadata):
            event = response.event
            if event.HasField("finished"):
                receipt = event.finished
                print(model_pb2.JobStatus.Name(receipt.status), receipt.message)
                return 0 if receipt.status == model_pb2.JOB_STATUS_SUCCEEDED else 1
            print(event.WhichOneof("event"), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
