"""rnnstate explore: a full-screen terminal app (Textual) where changing a setting changes the
states shown at once. Only the explore command imports it (Textual loads with app, controls
and views, never with settings or runner).

    settings   what the controls say, and the command line that prints what the app shows
    runner     the engines: numpy in threads (abandoned, never waited for, on quit), files
    keras_process   the keras engine in a process of its own (killed on quit)
    views      the output: tables, heatmaps, one step explained, the memory, with the step cursor
    memory_view   the memory view: each step's influence on the final states, at the cursor
    controls   the column of controls, read back as settings
    app        the app: its screen, its keys, what a change does
    terminal   the terminal it draws on, kept apart from TensorFlow's stderr; signals
"""
