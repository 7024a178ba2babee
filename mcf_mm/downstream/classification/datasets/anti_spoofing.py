"""(owner fills this module)"""
