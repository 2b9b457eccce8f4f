"""Words for the synthetic catalog's titles (models/catalog/generate.py): English words
real titles are made of, places, and words in five other scripts, so the generated catalog
has the shapes search must handle (apostrophes, hyphens, numerals, repeated common words,
non-Latin titles) and a dictionary of realistic size."""

from __future__ import annotations

ADJECTIVES = """
silent dark golden broken hidden last lost final eternal wild secret crimson frozen burning
distant forgotten hollow iron midnight northern quiet restless savage scarlet silver stolen
strange sudden velvet wicked bitter blind bright brave cold crooked dead deep empty endless
fallen fearless fragile gentle glass grand great green grey haunted heavy holy honest
infinite invisible lonely lucky mad mighty noble pale perfect proud rising royal rusty sacred
sleeping small southern steel sweet tender thin tiny twisted violent wandering warm white
wooden young blue black red ancient angry beautiful big bloody blessed bold brilliant calm
careless cheap clever cruel curious dangerous dear desperate dirty dizzy dreadful dusty eager
easy electric elegant enormous evil exotic faithful false famous fancy fast fat fierce fine
first foolish foreign free fresh friendly funny furious giant glorious good graceful grim
guilty happy hard harsh hot huge humble hungry ideal innocent jealous kind late lazy little
long loud lovely loyal magic magnificent marvelous mean merry modern mysterious naked narrow
nasty natural new nice odd old open ordinary other painted perfect plain polite poor precious
pretty private pure quick rare raw real rich right rotten rough round sad safe secret serious
sharp shy sick simple slow smart soft solid sorry special spotless stark sticky still stormy
strong stupid super sweet tall terrible thick tired tough true ugly unknown unusual useful
vast vicious visible weak weary weird wet wide wise wonderful wrong yellow blonde purple
orange pink western eastern atomic cosmic lunar solar tropical arctic urban rural mechanical
digital electric nuclear magnetic vertical horizontal sonic supreme ultimate
""".split()

NOUNS = """
river empire garden kingdom city night storm island harbor mountain forest desert ocean
highway station bridge tower castle road valley mirror shadow dream promise secret letter song
journey voyage hunter soldier stranger widow orphan king queen prince thief detective doctor
pilot sailor witness angel ghost wolf tiger dragon falcon raven horse fox heart crown sword
key door window house village frontier border planet star moon sun comet galaxy machine
engine signal code memory echo whisper legacy revolution rebellion escape return reckoning
awakening horizon silence thunder fire ice rain snow dust ashes bones blood gold iron stone
winter summer autumn spring paradise labyrinth circus carnival orchestra symphony ballad
requiem man woman boy girl child father mother brother sister son daughter family friend
lover wife husband bride groom teacher student lawyer judge priest nun monk saint devil
demon vampire zombie witch wizard knight warrior samurai ninja pirate cowboy sheriff outlaw
gangster spy agent assassin killer hero heroine villain monster beast giant dwarf elf robot
alien android cyborg clone virus plague war battle peace army navy legion empire republic
nation world earth land sea sky space universe heaven hell time day morning evening dawn dusk
hour minute year century age era life death love hate fear hope faith truth lie game play
show dance party wedding funeral birthday holiday christmas summer school college university
hospital prison church temple palace mansion cabin farm ranch hotel motel restaurant cafe bar
club casino theater cinema museum library office factory mine tunnel cave pit well lake pond
bay coast shore beach cliff canyon hill peak volcano jungle swamp field meadow park street
avenue alley square market town suburb neighborhood apartment room attic basement kitchen
bed table chair box bag ship boat train plane car truck bus bike rocket submarine tank gun
rifle bullet bomb knife blade arrow bow shield armor ring necklace diamond pearl ruby emerald
treasure money fortune dollar coin ticket map compass clock watch phone camera radio
television computer network internet program file diary book novel poem story tale legend
myth prophecy curse spell charm potion poison medicine cure disease fever storm hurricane
tornado flood earthquake fire smoke flame spark light darkness color shadow ghost spirit soul
mind body face eye hand heart head voice name word message sign symbol number line circle
point edge corner center side end beginning middle top bottom front back way path trail track
race chase hunt quest mission operation project experiment test trial case crime murder
robbery heist scandal affair conspiracy betrayal revenge justice law order chaos disorder
mystery puzzle riddle question answer problem solution choice chance luck fate destiny
freedom liberty glory honor pride shame guilt innocence beauty wonder miracle magic
""".split()

VERBS_PAST = """
knew loved lost found stole saved killed married left came fell rose broke burned froze
vanished returned escaped forgot remembered dreamed danced sang cried laughed lied trusted
betrayed chased hunted followed watched heard saw kissed touched changed fought won
""".split()

PLACES = """
Paris London Rome Berlin Vienna Moscow Tokyo Kyoto Shanghai Beijing Seoul Mumbai Delhi Cairo
Istanbul Athens Madrid Barcelona Lisbon Dublin Prague Budapest Warsaw Havana Rio Lagos
Nairobi Casablanca Marrakesh Manhattan Brooklyn Chicago Boston Memphis Texas Alaska Nevada
Montana Dakota Vegas Hollywood Venice Naples Sicily Tuscany Provence Normandy Brittany
Bavaria Siberia Mongolia Tibet Nepal Bali Java Sahara Arabia Persia Babylon Troy Sparta
Atlantis Avalon Mars Jupiter Saturn Venus Mercury Pluto Neptune Orion Andromeda Alcatraz
Manchuria Shanghai Hongkong Saigon Bangkok Manila Sydney Tasmania Patagonia Yukon Quebec
Harlem Bronx Queens Detroit Baltimore Philadelphia Dallas Houston Phoenix Denver Seattle
Portland Oakland Miami Orlando Savannah Nashville Louisiana Mississippi Ohio Kentucky
""".split()

NUMBER_WORDS = """
One Two Three Four Five Six Seven Eight Nine Ten Eleven Twelve Thirteen Fourteen Fifteen
Twenty Forty Hundred Thousand
""".split()

# Hyphenated compounds as titles use them: "Spider-Man", "X-Men".
COMPOUND_HEADS = """
Spider Bat Iron Ant Super Ice Fire Star Moon Sun Wolf Cat Bird Snake Shark Night Day Dream
Time Space Sky Sea Mind Soul Shadow Ghost Half Semi Anti Ultra Cyber Techno Robo
""".split()
COMPOUND_TAILS = "Man Woman Men Girl Boy Kid Lord King Queen Force Zone World Ship".split()

RUSSIAN = """
ирония судьбы брат сестра отец мать дом город ночь день зима лето весна осень река море
поле лес война мир любовь смерть жизнь солнце луна звезда небо земля огонь вода ветер снег
дождь дорога путь сон тайна правда свобода время память сердце душа голос тишина
белый чёрный красный тёмный светлый последний первый старый новый далёкий тихий холодный
горячий большой маленький долгий короткий золотой серебряный железный русский северный
""".split()
GREEK = """
λόγος φως νύχτα θάλασσα ήλιος ουρανός αγάπη θάνατος ζωή πόλη σπίτι δρόμος ταξίδι όνειρο
μυστικό αλήθεια ελευθερία καρδιά ψυχή φωνή σιωπή μέρα χειμώνας καλοκαίρι άνοιξη
""".split()
JAPANESE = """
千と千尋の神隠し 七人の侍 東京物語 羅生門 となりのトトロ もののけ姫 君の名は 天気の子
風の谷 夜明け 桜 雪 月 花 海 空 夢 恋 侍 忍者 刀 影 光 道 家族 少年 少女 物語 伝説 旅
""".split()
CHINESE = """
霸王别姬 卧虎藏龙 英雄 十面埋伏 活着 红高粱 大红灯笼高高挂 花样年华 重庆森林 春光乍泄
天堂 地狱 江湖 功夫 少林 武侠 龙 虎 凤凰 长城 黄河 月亮 太阳 星星 爱情 故事 传说 归来
""".split()
KOREAN = """
기생충 올드보이 살인의 추억 괴물 부산행 아가씨 버닝 마더 시 박쥐 곡성 추격자
사랑 전쟁 여름 겨울 봄 가을 바다 하늘 도시 밤 낮 꿈 비밀 약속 기억 가족 친구 왕 여왕
""".split()
SCRIPTS = (RUSSIAN, GREEK, JAPANESE, CHINESE, KOREAN)
