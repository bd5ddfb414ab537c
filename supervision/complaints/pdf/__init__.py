"""The complaint decision letter (投诉处理决定书)."""
