"""(routes: being written)"""
