"""sequence_qbo"""
