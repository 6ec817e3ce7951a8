#!/bin/sh
echo "bazel coverage is not available: @remote_coverage_tools is an offline stand-in (tools/bazel_stubs)" >&2
exit 1
