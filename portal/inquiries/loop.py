"""(closed loop: being written)"""
